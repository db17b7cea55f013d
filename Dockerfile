# syntax=docker/dockerfile:1
# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/retainer ./cmd/retainer \
 && mkdir -p /out/data /out/config

# Run: nothing but the binary, CA certificates and the zone database it embeds.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/retainer /usr/local/bin/retainer
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/config /config
COPY examples/retainer.yaml /config/retainer.yaml
USER 65532:65532
WORKDIR /data
ENV RETAINER_CONFIG=/config/retainer.yaml \
    RETAINER_DATABASE=/data/retainer.db \
    RETAINER_NOTIFY__FILE__DIR=/data/outbox \
    RETAINER_IMPORT__INBOX=/data/inbox \
    RETAINER_HTTP__LISTEN=0.0.0.0:8080
VOLUME ["/config", "/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/retainer"]
CMD ["run"]
