# fc2conv as a small static container image: the binary, with the dress
# model embedded, and nothing else.
#
#   docker build -t fc2conv .
#   docker run --rm -p 8080:8080 fc2conv                      # serve (the default command)
#   docker run --rm -v "$PWD/testdata/samples:/in:ro" fc2conv scan /in
#
# Build stage: CGO_ENABLED=0 gives a statically linked binary that needs no
# libc, so it runs on an empty base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/fc2conv ./cmd/fc2conv

# Run stage: scratch, so the image is the binary alone. It serves and
# scans without any file beside it (tested: TestStaticBinaryRunsAlone).
FROM scratch
COPY --from=build /out/fc2conv /fc2conv
# Not root: a numeric user needs no /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/fc2conv"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
