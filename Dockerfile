# custd in a container: a static binary on a distroless base, run as a non-root user,
# with the SQLite store in a volume.
#
#   docker build -t custd .
#   docker run -d --name custd -p 8080:8080 -v custd-data:/var/lib/custd custd
#   docker logs custd                      # the first start prints admin@demo's password
#   docker exec custd custd user list      # the account commands use the same store
#
# See README.md ("Running in a container") for PostgreSQL, TLS and the settings.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The SQLite driver is pure Go, so without cgo the binary is static and needs no C
# library at run time. The build context has no .git (see .dockerignore): custd
# version says "(devel)" and names no commit.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/custd ./cmd/custd \
    && mkdir -p /out/data

# distroless/static: CA certificates, time zones and a "nonroot" user (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/custd /usr/local/bin/custd
# The store's folder, owned by the user custd runs as; a new named volume copies it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/custd
ENV CUSTD_ADDR=0.0.0.0:8080 \
    CUSTD_DB=sqlite:/var/lib/custd/custd.db
WORKDIR /var/lib/custd
VOLUME ["/var/lib/custd"]
EXPOSE 8080
USER 65532:65532
# custd healthcheck asks the server for /readyz (the image has no shell, curl or wget).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/custd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/custd"]
CMD ["serve"]
