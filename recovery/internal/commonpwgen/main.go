// Command commonpwgen writes recovery/commonpasswords.txt, the list of
// common passwords, dictionary words and names the recovery package
// refuses by default. It is run by go generate in package recovery:
//
//	go generate ./recovery
//
// Origin: the data/ directory of github.com/trustelem/zxcvbn v1.0.1 (MIT,
// Copyright (c) 2018 Vincent Vanackere and Trustelem), the Go port of
// Dropbox's zxcvbn (MIT, Copyright (c) 2012-2016 Dan Wheeler and Dropbox,
// Inc.), whose data-scripts made these files:
//
//   - passwords.txt ranks the passwords most often seen in Mark Burnett's
//     10 million password sample (xato.net, released to the public
//     domain), one "password count" a line, most frequent first;
//   - english_wikipedia.txt ranks the words of English Wikipedia by how
//     often they occur, one "word count" a line, as counted by zxcvbn's
//     count_wikipedia.py (word counts, not Wikipedia's text);
//   - female_names.txt, male_names.txt and surnames.txt are the first
//     names and surnames of the 1990 US census (a work of the US
//     government, in the public domain), one a line, most frequent first.
//
// us_tv_and_film.txt is left out on purpose: it is a copy of Wiktionary's
// frequency lists of TV and film scripts, whose licence (CC BY-SA) must
// not reach the binaries that embed the list.
//
// The module is fetched through the Go module proxy and checked against
// go.sum's checksum database; each file's SHA-256 is pinned below too, so
// a regenerated list is the committed one.
//
// Each entry is folded the way package recovery folds a password (lower
// case, common leetspeak undone: see
// recovery/internal/leetfold, which the check uses too)
// and kept when it is at least its source's minimum length; dictionary
// words and names must be made of letters alone and are kept from 5
// letters on, one more than passwords, so that a short word alone refuses
// nothing. The result is sorted and deduplicated, one entry a line, so
// that the package can binary-search it in place.
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

	"github.com/recoverykit/recoverykit/recovery/internal/leetfold"
)

const module = "github.com/trustelem/zxcvbn@v1.0.1"

// A source is one of the module's data files and what is taken from it.
type source struct {
	file   string // under data/
	sha256 string
	counts bool // each line is "word count" rather than "word"
	// minLen is the shortest entry kept.
	minLen int
	// letters keeps only entries made of ASCII letters: words and names,
	// not tokens such as "1980s" or "u.s.".
	letters bool
	// words sends the entries to the list of dictionary words and names
	// rather than to the list of passwords.
	words bool
}

// Every source is taken whole. zxcvbn's own ranked dictionary stops
// English words at 30,000 and surnames at 10,000, because it estimates
// guesses and a rarer word costs an attacker more; here a listed word is
// only refused when it is nearly the whole password, and any listed word
// plus a digit and a symbol is among an attacker's first guesses, however
// rare the word.
var sources = []source{
	{file: "passwords.txt", sha256: "6313cc5ef683a0461416318ee3b16f3d771a3cd10ea2aae54571d27ff95d951f", counts: true, minLen: 4},
	{file: "english_wikipedia.txt", sha256: "d328355469e93df15b091fd20a8fd171e056e5a870b65bcf08298a4eb93a6160", counts: true, minLen: 5, letters: true, words: true},
	{file: "female_names.txt", sha256: "9067937d9acdafb6c92683ce343dff785db5224b40df05723964adb3d41055ae", minLen: 5, letters: true, words: true},
	{file: "male_names.txt", sha256: "cc68490c2ef895961f568833130f90f43a41f0a4fffb1990d84bbadd0b405c63", minLen: 5, letters: true, words: true},
	{file: "surnames.txt", sha256: "4ec7babc98a4ed0347b97fe26d7df34520c577c4e587abf8924e8ddd6939a01d", minLen: 5, letters: true, words: true},
}

// maxEntry is recovery's commonMaxEntry: longer entries could never match.
const maxEntry = 20

func main() {
	pwOut := flag.String("o", "commonpasswords.txt", "output file of passwords")
	wordsOut := flag.String("w", "commonwords.txt", "output file of dictionary words and names")
	flag.Parse()
	dir, err := moduleDir()
	if err != nil {
		log.Fatal(err)
	}
	lists := map[bool][]string{}
	for _, s := range sources {
		raw, err := readData(dir, s)
		if err != nil {
			log.Fatal(err)
		}
		w, err := build(raw, s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "commonpwgen: %s: %d entries\n", s.file, len(w))
		lists[s.words] = append(lists[s.words], w...)
	}
	passwords := sortUnique(lists[false])
	// A word that is a listed password is refused as one already.
	words := slices.DeleteFunc(sortUnique(lists[true]), func(w string) bool {
		_, found := slices.BinarySearch(passwords, w)
		return found
	})
	if err := write(*pwOut, passwords); err != nil {
		log.Fatal(err)
	}
	if err := write(*wordsOut, words); err != nil {
		log.Fatal(err)
	}
}

func sortUnique(words []string) []string {
	slices.Sort(words)
	return slices.Compact(words)
}

// write writes words one a line.
func write(name string, words []string) error {
	text := strings.Join(words, "\n") + "\n"
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "commonpwgen: %s: %d entries, %d bytes\n", name, len(words), len(text))
	return nil
}

// moduleDir fetches the module with the go command and returns its
// directory.
func moduleDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Stderr = os.Stderr
	js, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(js, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %q", module, js)
	}
	return m.Dir, nil
}

// readData returns a source's file once its SHA-256 is checked.
func readData(dir string, s source) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "data", s.file))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != s.sha256 {
		return nil, fmt.Errorf("%s: SHA-256 %s, want %s", s.file, got, s.sha256)
	}
	return raw, nil
}

// build folds and filters a source's entries.
func build(raw []byte, s source) ([]string, error) {
	var words []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 0; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if want := map[bool]int{false: 1, true: 2}[s.counts]; len(f) != want {
			return nil, fmt.Errorf("%s line %d: want %d fields, got %q", s.file, n+1, want, sc.Text())
		}
		w := []byte(f[0])
		keep := len(w) >= s.minLen && len(w) <= maxEntry
		for i, c := range w {
			if c >= 0x80 {
				return nil, fmt.Errorf("%s line %d: not ASCII", s.file, n+1)
			}
			keep = keep && (!s.letters || 'a' <= c|0x20 && c|0x20 <= 'z')
			w[i] = leetfold.Byte(c)
		}
		if keep {
			words = append(words, string(w))
		}
	}
	return words, sc.Err()
}
