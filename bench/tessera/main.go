// Command tessera appends entries to a Trillian Tessera log on POSIX storage, through the
// library, and reports how many it integrated per second: the peer of credledger's tile
// export in bench/log.py. Entries come from a file (each a big-endian uint32 length and its
// bytes), so both sides append the same bytes; every Add is waited for, and Tessera answers an
// index only once its batch is in the tiles on disk.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

func readEntries(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint32(data[:4]))
		entries = append(entries, data[4:4+n])
		data = data[4+n:]
	}
	return entries, nil
}

func run() error {
	dir := flag.String("dir", "", "an empty directory for the log")
	input := flag.String("entries", "", "the entries file")
	workers := flag.Int("workers", 512, "goroutines adding entries at once")
	batch := flag.Uint("batch", 1024, "entries a batch at most")
	flag.Parse()
	entries, err := readEntries(*input)
	if err != nil {
		return err
	}
	skey, _, err := note.GenerateKey(rand.Reader, "bench.tessera.example/log")
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	ctx := context.Background()
	driver, err := posix.New(ctx, posix.Config{Path: *dir})
	if err != nil {
		return err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(*batch, 100*time.Millisecond).
		WithCheckpointInterval(time.Second).
		WithPushback(uint(len(entries)) + 1)
	appender, shutdown, _, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return err
	}
	work := make(chan []byte, len(entries))
	for _, e := range entries {
		work <- e
	}
	close(work)
	var failed error
	var once sync.Once
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				if _, err := appender.Add(ctx, tessera.NewEntry(e))(); err != nil {
					once.Do(func() { failed = err })
				}
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(started).Seconds()
	if failed != nil {
		return failed
	}
	_ = shutdown(ctx)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"entries": len(entries), "seconds": seconds, "per_second": float64(len(entries)) / seconds,
	})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tessera:", err)
		os.Exit(1)
	}
}
