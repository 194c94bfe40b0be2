// Command tlogclient reads a transparency log published as C2SP tlog-tiles and verifies it with
// Go's sumdb code (golang.org/x/mod/sumdb/note and sumdb/tlog), none of credledger's: the
// checkpoint's Ed25519 signature, every entry re-hashed against the level-0 tiles, inclusion
// proofs of sampled entries, and consistency with an older checkpoint. It prints a JSON summary
// and exits non-zero on the first failure.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

type summary struct {
	Origin          string   `json:"origin"`
	Size            int64    `json:"size"`
	EntriesRehashed int64    `json:"entries_rehashed"`
	InclusionProofs int      `json:"inclusion_proofs"`
	ConsistentFrom  int64    `json:"consistent_from,omitempty"`
	CosignedBy      []string `json:"cosigned_by"`
}

// cosignatureV1 verifies a witness's C2SP cosignature/v1 (Ed25519) signature line: the key hash
// commits to type 0x04, and the signature is over "cosignature/v1\ntime <t>\n" and the body.
type cosignatureV1 struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func newCosignatureV1(vkey string) (*cosignatureV1, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("witness key %q is malformed", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		return nil, fmt.Errorf("witness key %q is no cosignature/v1 key", vkey)
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	hash := binary.BigEndian.Uint32(sum[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		return nil, fmt.Errorf("witness key %q: its key hash does not match", vkey)
	}
	return &cosignatureV1{parts[0], hash, ed25519.PublicKey(raw[1:])}, nil
}

func (c *cosignatureV1) Name() string    { return c.name }
func (c *cosignatureV1) KeyHash() uint32 { return c.hash }
func (c *cosignatureV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	header := fmt.Sprintf("cosignature/v1\ntime %d\n", binary.BigEndian.Uint64(sig[:8]))
	return ed25519.Verify(c.key, append([]byte(header), msg...), sig[8:])
}

type keys []string

func (k *keys) String() string     { return strings.Join(*k, ",") }
func (k *keys) Set(v string) error { *k = append(*k, v); return nil }

// c2spTiles fetches hash tiles by their C2SP paths (tile/L/N[.p/W]), not sumdb's tile/H/L/N.
type c2spTiles struct{ base string }

func (c *c2spTiles) Height() int { return tileHeight }

func (c *c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.L < 0 {
			return nil, fmt.Errorf("data tiles are read as entry bundles")
		}
		body, err := fetch(c.base + "/" + tilePath(strconv.Itoa(t.L), t.N, t.W))
		if err != nil {
			return nil, err
		}
		data[i] = body
	}
	return data, nil
}

func (c *c2spTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func tilePath(level string, n int64, width int) string {
	digits := fmt.Sprintf("%03d", n)
	for len(digits)%3 != 0 {
		digits = "0" + digits
	}
	var groups []string
	for i := 0; i < len(digits); i += 3 {
		groups = append(groups, digits[i:i+3])
	}
	for i := range groups[:len(groups)-1] {
		groups[i] = "x" + groups[i]
	}
	path := "tile/" + level + "/" + strings.Join(groups, "/")
	if width < 1<<tileHeight {
		path += ".p/" + strconv.Itoa(width)
	}
	return path
}

func fetch(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// checkpoint verifies a signed checkpoint note with the log's key and returns its tree, and
// the names of the witnesses whose cosignatures it carries and verify.
func checkpoint(
	msg []byte, verifier note.Verifier, origin string, witnesses ...note.Verifier,
) (tlog.Tree, []string, error) {
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{verifier}, witnesses...)...))
	if err != nil {
		return tlog.Tree{}, nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	logSigned := false
	cosigned := []string{}
	for _, sig := range n.Sigs {
		if sig.Name == verifier.Name() && sig.Hash == verifier.KeyHash() {
			logSigned = true
			continue
		}
		cosigned = append(cosigned, sig.Name)
	}
	if !logSigned {
		return tlog.Tree{}, nil, fmt.Errorf("checkpoint signature: not signed by the log's key")
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		return tlog.Tree{}, nil, fmt.Errorf("checkpoint is not of origin %q", origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return tlog.Tree{}, nil, fmt.Errorf("checkpoint size: %w", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return tlog.Tree{}, nil, fmt.Errorf("checkpoint root hash is not 32 bytes of base64")
	}
	var hash tlog.Hash
	copy(hash[:], root)
	return tlog.Tree{N: size, Hash: hash}, cosigned, nil
}

// bundle parses an entry bundle: each entry a big-endian uint16 length and its bytes.
func bundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("entry bundle ends inside a length")
		}
		length := int(data[0])<<8 | int(data[1])
		if len(data) < 2+length {
			return nil, fmt.Errorf("entry bundle ends inside an entry")
		}
		entries = append(entries, data[2:2+length])
		data = data[2+length:]
	}
	return entries, nil
}

func run() (summary, error) {
	base := flag.String("url", "", "the log's tile prefix, e.g. http://host/tlog")
	vkey := flag.String("vkey", "", "the log's signed-note verifier key")
	origin := flag.String("origin", "", "the log's origin line")
	old := flag.String("old", "", "a file with an older checkpoint note, to prove consistency with")
	samples := flag.Int("samples", 300, "entries whose inclusion proofs are checked")
	var witnessKeys keys
	flag.Var(&witnessKeys, "witness", "a witness's cosignature/v1 verifier key (repeatable)")
	quorum := flag.Int("quorum", 0, "cosignatures by those witnesses the checkpoint must carry")
	flag.Parse()
	var witnesses []note.Verifier
	for _, vkey := range witnessKeys {
		w, err := newCosignatureV1(vkey)
		if err != nil {
			return summary{}, err
		}
		witnesses = append(witnesses, w)
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return summary{}, fmt.Errorf("verifier key: %w", err)
	}
	msg, err := fetch(*base + "/checkpoint")
	if err != nil {
		return summary{}, err
	}
	tree, cosigned, err := checkpoint(msg, verifier, *origin, witnesses...)
	if err != nil {
		return summary{}, err
	}
	if len(cosigned) < *quorum {
		return summary{}, fmt.Errorf("checkpoint cosigned by %d witnesses, quorum %d", len(cosigned), *quorum)
	}
	reader := tlog.TileHashReader(tree, &c2spTiles{*base})
	out := summary{Origin: *origin, Size: tree.N, CosignedBy: cosigned}

	// Every entry, from the entry bundles, re-hashed and compared with the level-0 tiles.
	var leaves []tlog.Hash
	for k := int64(0); k*256 < tree.N; k++ {
		width := int(min(256, tree.N-k*256))
		data, err := fetch(*base + "/" + tilePath("entries", k, width))
		if err != nil {
			return out, err
		}
		entries, err := bundle(data)
		if err != nil {
			return out, err
		}
		if len(entries) != width {
			return out, fmt.Errorf("entry bundle %d holds %d entries, not %d", k, len(entries), width)
		}
		for _, entry := range entries {
			leaves = append(leaves, tlog.RecordHash(entry))
		}
	}
	indexes := make([]int64, tree.N)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	stored, err := reader.ReadHashes(indexes)
	if err != nil {
		return out, fmt.Errorf("level-0 tiles: %w", err)
	}
	for i := range leaves {
		if leaves[i] != stored[i] {
			return out, fmt.Errorf("entry %d does not hash to its leaf", i)
		}
	}
	out.EntriesRehashed = int64(len(leaves))
	if root, err := tlog.TreeHash(tree.N, reader); err != nil || root != tree.Hash {
		return out, fmt.Errorf("the tiles do not give the checkpoint's root: %v", err)
	}

	rng := rand.New(rand.NewSource(9162))
	for i := 0; i < *samples && tree.N > 0; i++ {
		index := rng.Int63n(tree.N)
		proof, err := tlog.ProveRecord(tree.N, index, reader)
		if err != nil {
			return out, fmt.Errorf("inclusion proof of %d: %w", index, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaves[index]); err != nil {
			return out, fmt.Errorf("inclusion of %d: %w", index, err)
		}
		out.InclusionProofs++
	}

	if *old != "" {
		msg, err := os.ReadFile(*old)
		if err != nil {
			return out, err
		}
		earlier, _, err := checkpoint(msg, verifier, *origin, witnesses...)
		if err != nil {
			return out, fmt.Errorf("older %w", err)
		}
		proof, err := tlog.ProveTree(tree.N, earlier.N, reader)
		if err != nil {
			return out, fmt.Errorf("consistency proof: %w", err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, earlier.N, earlier.Hash); err != nil {
			return out, fmt.Errorf("consistency: %w", err)
		}
		out.ConsistentFrom = earlier.N
	}
	return out, nil
}

func main() {
	out, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogclient:", err)
		os.Exit(1)
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(out)
	os.Stdout.Write(b.Bytes())
}
