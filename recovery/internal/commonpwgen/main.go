// Command commonpwgen writes recovery/commonpasswords.txt, the list of
// common passwords the recovery package refuses by default. It is run by
// go generate in package recovery:
//
//	go generate ./recovery
//
// Origin: data/passwords.txt of github.com/trustelem/zxcvbn v1.0.1 (MIT,
// Copyright (c) 2018 Vincent Vanackere and Trustelem), the Go port of
// Dropbox's zxcvbn (MIT, Copyright (c) 2012-2016 Dan Wheeler and Dropbox,
// Inc.). That file ranks the passwords most often seen in Mark Burnett's
// 10 million password sample (xato.net, released to the public domain),
// one "password count" a line, most frequent first. The module is fetched
// through the Go module proxy and checked against go.sum's checksum
// database; the file's SHA-256 is pinned below too, so a regenerated list
// is the committed one.
//
// Each entry is folded the way package recovery folds a password (lower
// case, common leetspeak undone: see fold in recovery/commonpassword.go,
// which this program's foldByte must equal) and kept when it is at least
// minBase bytes long; the result is sorted and deduplicated, one entry a
// line, so that the package can binary-search it in place.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const (
	module       = "github.com/trustelem/zxcvbn@v1.0.1"
	dataFile     = "data/passwords.txt"
	dataSHA256   = "6313cc5ef683a0461416318ee3b16f3d771a3cd10ea2aae54571d27ff95d951f"
	defaultLimit = 47023
	minBase      = 4
)

func main() {
	out := flag.String("o", "commonpasswords.txt", "output file")
	limit := flag.Int("n", defaultLimit, "how many of the most frequent passwords to take")
	flag.Parse()
	raw, err := readData()
	if err != nil {
		log.Fatal(err)
	}
	words, err := build(raw, *limit)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, []byte(strings.Join(words, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "commonpwgen: %d entries, %d bytes\n", len(words), len(strings.Join(words, "\n"))+1)
}

// readData fetches the module with the go command and returns the file.
func readData() ([]byte, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Stderr = os.Stderr
	js, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s: %w", module, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(js, &m); err != nil || m.Dir == "" {
		return nil, fmt.Errorf("go mod download %s: no directory in %q", module, js)
	}
	raw, err := os.ReadFile(filepath.Join(m.Dir, dataFile))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != dataSHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %s, want %s", dataFile, got, dataSHA256)
	}
	return raw, nil
}

// build folds, filters, sorts and deduplicates the first limit entries.
func build(raw []byte, limit int) ([]string, error) {
	var words []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 0; sc.Scan() && n < limit; n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, fmt.Errorf("%s line %d: want \"password count\", got %q", dataFile, n+1, sc.Text())
		}
		w := []byte(f[0])
		for i, c := range w {
			if c >= 0x80 {
				return nil, fmt.Errorf("%s line %d: not ASCII", dataFile, n+1)
			}
			w[i] = foldByte(c)
		}
		if len(w) >= minBase {
			words = append(words, string(w))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.Sort(words)
	return slices.Compact(words), nil
}

// foldByte must equal recovery's foldByte (a test there checks the
// committed list against it).
func foldByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	switch c {
	case '0':
		return 'o'
	case '1', '!', '|', 'l':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7', '+':
		return 't'
	case '8':
		return 'b'
	}
	return c
}
