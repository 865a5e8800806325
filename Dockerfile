# The spotfleet controller's image, for those who build with Docker. `spotfleet image` builds
# the same image (a static binary, CA certificates, user 65532, this entrypoint) without
# Docker or a base image; it is the one the tests check (no Docker on the build machines).
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /spotfleet ./cmd/spotfleet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /spotfleet /usr/local/bin/spotfleet
USER 65532:65532
EXPOSE 7077
ENTRYPOINT ["/usr/local/bin/spotfleet", "controller"]
