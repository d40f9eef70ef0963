package backendv1

// Regenerate the Go code after editing backend.proto (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc on PATH; see docs/architecture.md):
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative backend.proto
