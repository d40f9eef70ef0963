package wire

import (
	"crypto/sha256"

	"google.golang.org/protobuf/proto"

	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// ReportDigest is the SHA-256 of r in this build's deterministic encoding.
// A plugin sends it with a plan made inside Run (RunPlan.report_digest), and
// compares it with the digest a host sends back: only the side that made a
// digest ever compares it, so encodings of other builds do not matter.
func ReportDigest(r *pb.Report) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}
