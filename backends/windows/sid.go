package windows

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// sbx's synthetic SIDs. They name no account: they exist only in ACEs sbx
// adds and in the restricting-SID list of the tokens sbx builds, so a write
// succeeds only where sbx itself granted it. They have the shape of an
// account SID, S-1-5-21-a-b-c-d, with four sub-authorities taken from
// HMAC-SHA256(seed, purpose), where seed is a random per-user secret
// persisted in %LOCALAPPDATA%\sbx\sid-seed. Deriving them (instead of
// storing a map) keeps the plan a pure function and the SID of a workspace
// stable across runs, while two users (or two machines) never share one.
//
//   - the base SID ("base"): granted on the temporary directories, shared by
//     every run of the user;
//   - the workspace SID ("ws:" + case-folded workspace path): granted on one
//     workspace and its policy's writable roots, so a run in workspace A
//     cannot write workspace B even though both ACLs name sbx SIDs;
//   - the launch SID ("launch:" + a random per-run nonce): put in the token's
//     default DACL and on the run's private desktop, so objects the command
//     creates (pipes, events, sections) stay usable by it and by nothing else
//     that runs restricted.

// NewSeed returns a new random SID seed, hex-encoded.
func NewSeed() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate SID seed: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// NewNonce returns a random 128-bit nonce, hex-encoded (launch SIDs, pipe
// names, session nonces).
func NewNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported systems; failing
		// closed here would stop every run, so panic loudly instead.
		panic("sbx: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// deriveSID returns S-1-5-21-a-b-c-d from HMAC-SHA256(seed, purpose).
func deriveSID(seedHex, purpose string) (string, error) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) < 16 {
		return "", fmt.Errorf("SID seed is not at least 16 hex-encoded bytes; delete %%LOCALAPPDATA%%\\sbx\\sid-seed to make a new one (and run `sbx setup --undo` first to remove the ACEs of the old one)")
	}
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(purpose))
	sum := m.Sum(nil)
	var sub [4]uint32
	for i := range sub {
		sub[i] = binary.LittleEndian.Uint32(sum[i*4:])
		// Keep clear of the well-known RIDs below 1000 in the last
		// position, so the SID never looks like a built-in account.
		if i == 3 && sub[i] < 1000 {
			sub[i] += 1000
		}
	}
	return fmt.Sprintf("S-1-5-21-%d-%d-%d-%d", sub[0], sub[1], sub[2], sub[3]), nil
}

// BaseSID is the user's base synthetic SID.
func BaseSID(seedHex string) (string, error) { return deriveSID(seedHex, "base") }

// WorkspaceSID is the synthetic SID of one workspace.
func WorkspaceSID(seedHex, workspace string) (string, error) {
	return deriveSID(seedHex, "ws:"+winKey(workspace))
}

// LaunchSID is the synthetic SID of one run.
func LaunchSID(seedHex, nonce string) (string, error) {
	return deriveSID(seedHex, "launch:"+nonce)
}

// validSID checks the textual form S-1-A-S1-...-Sn (1 ≤ n ≤ 15).
func validSID(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 4 || len(parts) > 18 || parts[0] != "S" || parts[1] != "1" {
		return false
	}
	for _, p := range parts[2:] {
		if p == "" {
			return false
		}
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			// The identifier authority may be up to 48 bits.
			if _, err := strconv.ParseUint(p, 10, 48); err != nil || p != parts[2] {
				return false
			}
		}
	}
	return true
}
