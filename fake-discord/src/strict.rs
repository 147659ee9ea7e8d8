//! What Discord's server refuses beyond the OpenAPI schema (`spec.rs`
//! checks shapes, not these): checked on every request before it is
//! routed, refused with Discord's 400 "Invalid Form Body" (50035) and
//! recorded as a violation of the bot.
//!
//! - a message's components without the `IS_COMPONENTS_V2` flag: at most 5
//!   action rows, only action rows at the top, at most 5 buttons in a row,
//!   a select alone in its row, every custom id unique in the message. The
//!   stored docs (`docs/using-message-components.md`) do not state these
//!   limits; Discord's component reference does, and the strict reading is
//!   taken;
//! - a message's embeds: at most 10, and at most 6,000 characters in all of
//!   their titles, descriptions, field names and values, footers and author
//!   names together (`docs/message.md`, "Embed Limits");
//! - `allowed_mentions` whose `parse` holds `users` (or `roles`) while
//!   `users` (or `roles`) lists ids: "mutually exclusive", a validation
//!   error (`docs/message.md`, "Allowed Mentions"); an empty list is fine;
//! - application command and option names: CHAT_INPUT names (and every
//!   option's) match `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$` and use
//!   the lowercase variant of any letter that has one
//!   (`docs/application-commands.md`, "Application Command Naming");
//! - `GET /guilds/{id}/members` with a `limit` outside 1-1000 (`docs/guild.md`,
//!   "List Guild Members"): refused, where a lenient fake would clamp it.

use serde_json::Value;

/// `IS_COMPONENTS_V2`: the message is made of components only.
pub const IS_COMPONENTS_V2: u64 = 1 << 15;

/// Check a request Discord would refuse; `Err` says why.
pub fn check(method: &str, api_path: &str, query: &[(String, String)], body: Option<&Value>) -> Result<(), String> {
    let segs: Vec<&str> = api_path.trim_start_matches('/').split('/').collect();
    if method == "GET" && matches!(segs.as_slice(), ["guilds", _, "members"]) {
        if let Some((_, v)) = query.iter().find(|(k, _)| k == "limit") {
            let ok = v.parse::<u64>().is_ok_and(|n| (1..=1000).contains(&n));
            if !ok {
                return Err(format!("limit: must be between 1 and 1000, got {v:?}"));
            }
        }
    }
    let Some(body) = body else { return Ok(()) };
    if segs.first() == Some(&"applications") && segs.last() == Some(&"commands") {
        return match body {
            Value::Array(cmds) => cmds.iter().try_for_each(command),
            one => command(one),
        };
    }
    if segs.first() == Some(&"applications") && segs.len() >= 2 && segs[segs.len() - 2] == "commands" {
        return command(body);
    }
    // An interaction callback carries its message in `data`; a modal's
    // `data` is a form, not a message.
    if segs.first() == Some(&"interactions") {
        let kind = body["type"].as_u64().unwrap_or(0);
        return match (kind, body.get("data")) {
            (9, _) | (_, None) => Ok(()),
            (_, Some(d)) => message(d),
        };
    }
    message(body)
}

/// A message body (create, edit, webhook, interaction response).
pub fn message(m: &Value) -> Result<(), String> {
    let flags = m["flags"].as_u64().unwrap_or(0);
    if let Some(rows) = m["components"].as_array() {
        if flags & IS_COMPONENTS_V2 == 0 {
            components(rows)?;
        }
    }
    if let Some(embeds) = m["embeds"].as_array() {
        if embeds.len() > 10 {
            return Err(format!("embeds: at most 10, got {}", embeds.len()));
        }
        let total: usize = embeds.iter().map(embed_chars).sum();
        if total > 6000 {
            return Err(format!("embeds: {total} characters in all, over 6000"));
        }
    }
    if let Some(a) = m.get("allowed_mentions").filter(|a| a.is_object()) {
        let parse: Vec<&str> = a["parse"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for kind in ["users", "roles"] {
            let listed = a[kind].as_array().is_some_and(|l| !l.is_empty());
            if listed && parse.contains(&kind) {
                return Err(format!(
                    "allowed_mentions: parse holds {kind:?} and {kind} lists ids (mutually exclusive)"
                ));
            }
        }
    }
    Ok(())
}

fn components(rows: &[Value]) -> Result<(), String> {
    if rows.len() > 5 {
        return Err(format!("components: at most 5 action rows, got {}", rows.len()));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        if row["type"].as_u64() != Some(1) {
            return Err(format!("components[{i}]: only action rows at the top without IS_COMPONENTS_V2"));
        }
        let inner = row["components"].as_array().map(Vec::as_slice).unwrap_or_default();
        let selects = inner.iter().filter(|c| matches!(c["type"].as_u64(), Some(3 | 5..=8))).count();
        if selects > 0 && inner.len() > 1 {
            return Err(format!("components[{i}]: a select shares its action row"));
        }
        if inner.len() > 5 {
            return Err(format!("components[{i}]: at most 5 buttons in an action row, got {}", inner.len()));
        }
        for c in inner {
            if let Some(id) = c["custom_id"].as_str() {
                if !ids.insert(id) {
                    return Err(format!("components: custom id {id:?} used twice in one message"));
                }
            }
        }
    }
    Ok(())
}

fn embed_chars(e: &Value) -> usize {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let fields: usize = e["fields"].as_array().into_iter().flatten().map(|f| len(&f["name"]) + len(&f["value"])).sum();
    len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]) + len(&e["author"]["name"]) + fields
}

/// One command definition: its name and (for CHAT_INPUT) its options' names.
fn command(c: &Value) -> Result<(), String> {
    let kind = c["type"].as_u64().unwrap_or(1);
    let name = c["name"].as_str().unwrap_or_default();
    if kind == 1 {
        chat_input_name(name).map_err(|e| format!("command {name:?}: {e}"))?;
        options(name, &c["options"])?;
    } else if name.is_empty() || name.chars().count() > 32 {
        return Err(format!("command {name:?}: 1-32 characters"));
    }
    Ok(())
}

fn options(path: &str, opts: &Value) -> Result<(), String> {
    for o in opts.as_array().into_iter().flatten() {
        let name = o["name"].as_str().unwrap_or_default();
        chat_input_name(name).map_err(|e| format!("/{path} option {name:?}: {e}"))?;
        options(&format!("{path} {name}"), &o["options"])?;
    }
    Ok(())
}

/// `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`, lowercase where a letter has one.
pub fn chat_input_name(name: &str) -> Result<(), &'static str> {
    let n = name.chars().count();
    if !(1..=32).contains(&n) {
        return Err("1-32 characters");
    }
    let allowed = |c: char| {
        matches!(c, '-' | '_' | '\'')
            || c.is_alphanumeric()
            || ('\u{0900}'..='\u{097F}').contains(&c)
            || ('\u{0E00}'..='\u{0E7F}').contains(&c)
    };
    if !name.chars().all(allowed) {
        return Err("only letters, numbers, - _ and ' (no spaces)");
    }
    if name.chars().any(|c| c.to_lowercase().next() != Some(c)) {
        return Err("letters with a lowercase variant must use it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn button(id: &str) -> Value {
        json!({"type": 2, "style": 1, "label": "x", "custom_id": id})
    }

    fn row(cs: Vec<Value>) -> Value {
        json!({"type": 1, "components": cs})
    }

    #[test]
    fn six_action_rows_are_refused_unless_the_message_is_components_v2() {
        let rows: Vec<Value> = (0..6).map(|i| row(vec![button(&format!("b{i}"))])).collect();
        assert!(message(&json!({"components": rows})).unwrap_err().contains("at most 5 action rows"));
        assert!(message(&json!({"components": rows[..5]})).is_ok());
        assert!(message(&json!({"components": rows, "flags": IS_COMPONENTS_V2})).is_ok());
    }

    #[test]
    fn a_select_shares_no_row_and_a_row_holds_five_buttons() {
        let select = json!({"type": 3, "custom_id": "s", "options": []});
        let shared = row(vec![select.clone(), button("b")]);
        assert!(message(&json!({"components": [shared]})).unwrap_err().contains("select shares"));
        assert!(message(&json!({"components": [row(vec![select])]})).is_ok());
        let six = row((0..6).map(|i| button(&format!("b{i}"))).collect());
        assert!(message(&json!({"components": [six]})).unwrap_err().contains("at most 5 buttons"));
    }

    #[test]
    fn custom_ids_are_unique_in_a_message() {
        let m = json!({"components": [row(vec![button("a")]), row(vec![button("a")])]});
        assert!(message(&m).unwrap_err().contains("used twice"));
        // A link button has no custom id.
        let links = row(vec![json!({"type": 2, "style": 5, "url": "https://x"}); 2]);
        assert!(message(&json!({"components": [links]})).is_ok());
    }

    #[test]
    fn embeds_hold_6000_characters_in_all() {
        let e = |n: usize| json!({"title": "t", "description": "d".repeat(n), "fields": [{"name": "n", "value": "v"}]});
        assert!(message(&json!({"embeds": [e(2997), e(2997)]})).is_ok(), "3 + 2997 = 3000 each");
        assert!(message(&json!({"embeds": [e(2997), e(2998)]})).unwrap_err().contains("6001 characters"));
        let many: Vec<Value> = (0..11).map(|_| json!({"title": "t"})).collect();
        assert!(message(&json!({"embeds": many})).unwrap_err().contains("at most 10"));
    }

    #[test]
    fn parse_with_a_list_of_the_same_kind_is_refused() {
        let m = |a: Value| message(&json!({"content": "hi", "allowed_mentions": a}));
        assert!(m(json!({"parse": ["users"], "users": ["1"]})).is_err());
        assert!(m(json!({"parse": ["roles"], "roles": ["1"]})).is_err());
        assert!(m(json!({"parse": ["users", "roles"], "users": []})).is_ok(), "an empty list is fine");
        assert!(m(json!({"parse": ["everyone"], "users": ["1"]})).is_ok(), "another kind is fine");
        assert!(m(json!({"parse": []})).is_ok());
    }

    #[test]
    fn command_and_option_names_follow_the_naming_rule() {
        assert!(chat_input_name("request-join").is_ok());
        assert!(chat_input_name("don't_2").is_ok());
        assert!(chat_input_name("गट").is_ok());
        assert!(chat_input_name("Join").is_err(), "uppercase");
        assert!(chat_input_name("two words").is_err());
        assert!(chat_input_name("").is_err());
        assert!(chat_input_name(&"a".repeat(33)).is_err());
        let cmd = |opt: &str| json!({"name": "group", "type": 1, "options": [{"name": "info", "type": 1, "options": [{"name": opt, "type": 3}]}]});
        assert!(check("PUT", "/applications/1/guilds/2/commands", &[], Some(&json!([cmd("group")]))).is_ok());
        let bad = check("PUT", "/applications/1/commands", &[], Some(&json!([cmd("Group")]))).unwrap_err();
        assert!(bad.contains("/group info option \"Group\""), "{bad}");
        // Message commands may be mixed case with spaces.
        let msg = json!([{"name": "Subscribe to post", "type": 3}]);
        assert!(check("PUT", "/applications/1/commands", &[], Some(&msg)).is_ok());
    }

    #[test]
    fn listing_members_takes_a_limit_of_1_to_1000() {
        let q = |v: &str| vec![("limit".to_string(), v.to_string())];
        let list = |v: &str| check("GET", "/guilds/1/members", &q(v), None);
        assert!(list("1").is_ok() && list("1000").is_ok());
        assert!(list("0").is_err() && list("1001").is_err() && list("-1").is_err());
        assert!(check("GET", "/guilds/1/members", &[], None).is_ok(), "the default is 1");
    }

    #[test]
    fn an_interaction_callback_is_checked_as_its_message_and_a_modal_is_not() {
        let rows: Vec<Value> = (0..6).map(|i| row(vec![button(&format!("b{i}"))])).collect();
        let cb = json!({"type": 4, "data": {"components": rows}});
        assert!(check("POST", "/interactions/1/tok/callback", &[], Some(&cb)).is_err());
        let modal = json!({"type": 9, "data": {"custom_id": "m", "title": "t", "components": []}});
        assert!(check("POST", "/interactions/1/tok/callback", &[], Some(&modal)).is_ok());
    }
}
