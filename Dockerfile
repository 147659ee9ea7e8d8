# Guildhall's container (O3): build with the committed query data (no
# database needed), run as a non-root user in a small image.
#   docker build -t guildhall .
#   docker run --env-file .env -e METRICS_ADDR=0.0.0.0:9100 -p 9100:9100 guildhall

FROM rust:1-bookworm AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY .sqlx ./.sqlx
COPY migrations ./migrations
COPY src ./src
COPY benches ./benches
COPY fake-discord ./fake-discord
RUN cargo build --release --locked -p guildhall --bin guildhall

FROM debian:bookworm-slim AS run
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin guildhall
COPY --from=build /src/target/release/guildhall /usr/local/bin/guildhall
USER 10001:10001
ENV LOG_FORMAT=json
# docker stop sends SIGTERM: the bot shuts down gracefully (see the README).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/guildhall"]
