package redisstore

import (
	"os"
	"strings"
	"testing"
)

// hashTag is the part of key that Redis Cluster hashes: between the first
// '{' and the first '}' after it, when that is not empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

func TestKeyLayout(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{codeKey("recovery:", "us-east-1_abc", "u:1234"), "recovery:code:{us-east-1_abc|u:1234}"},
		{codeKey("recovery:", "p{1}", "a|b%"), "recovery:code:{p%7B1%7D|a%7Cb%25}"},
		{codeKey("recovery:", "", ""), "recovery:code:{%00|%00}"},
		{rateKey("recovery:", "us-east-1_abc", "ip:192.0.2.1"), "recovery:rate:{us-east-1_abc}:ip:192.0.2.1"},
		{rateKey("recovery:", "", "client:{web}"), "recovery:rate:{%00}:client:{web}"},
	} {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
}

// TestKeysDistinct checks that different (pool, user) and (pool, key) pairs
// never share a key, and that keys of the same user, or of the same pool's
// counters, always share a hash tag.
func TestKeysDistinct(t *testing.T) {
	parts := []string{"", "a", "b", "a|b", "a%7Cb", "%", "%00", "{", "}", "{a}", "a}b", "|", "||", ":"}
	codes := map[string][2]string{}
	rates := map[string][2]string{}
	for _, pool := range parts {
		poolTag := ""
		for _, x := range parts {
			ck := codeKey("p:", pool, x)
			if prev, ok := codes[ck]; ok {
				t.Errorf("codeKey(%q, %q) = codeKey(%q, %q) = %q", pool, x, prev[0], prev[1], ck)
			}
			codes[ck] = [2]string{pool, x}
			if tag := hashTag(ck); tag == ck || !strings.HasSuffix(ck, "{"+tag+"}") {
				t.Errorf("codeKey(%q, %q) = %q: the whole record is not one hash tag", pool, x, ck)
			}

			rk := rateKey("p:", pool, x)
			if prev, ok := rates[rk]; ok {
				t.Errorf("rateKey(%q, %q) = rateKey(%q, %q) = %q", pool, x, prev[0], prev[1], rk)
			}
			rates[rk] = [2]string{pool, x}
			switch tag := hashTag(rk); {
			case tag == rk:
				t.Errorf("rateKey(%q, %q) = %q has no hash tag", pool, x, rk)
			case poolTag == "":
				poolTag = tag
			case tag != poolTag:
				t.Errorf("rateKey(%q, %q) = %q: tag %q, but another key of the pool has %q", pool, x, rk, tag, poolTag)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := NewCodeStore(nil, Options{}); err == nil || !strings.Contains(err.Error(), "client is nil") {
		t.Errorf("NewCodeStore(nil, ...): error %v, want one about the nil client", err)
	}
	if _, err := NewLimiter(nil, Options{Prefix: "a{b}:"}); err == nil || !strings.Contains(err.Error(), "Prefix") || !strings.Contains(err.Error(), "client is nil") {
		t.Errorf("NewLimiter(nil, Prefix with braces): error %v, want both problems", err)
	}
}

// TestScriptHeaders checks that each script file starts by saying what it
// takes and returns.
func TestScriptHeaders(t *testing.T) {
	for _, name := range []string{"issue.lua", "check.lua", "revoke.lua", "allow.lua", "record.lua"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var header strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && !strings.HasPrefix(line, "--") {
				break
			}
			header.WriteString(line + "\n")
		}
		if !strings.HasPrefix(header.String(), "-- "+name+":") {
			t.Errorf("%s does not start with a comment naming it", name)
		}
		if name == "record.lua" {
			continue // a prelude, not a script: it takes nothing itself
		}
		for _, w := range []string{"KEYS[", "ARGV[1]", "Returns"} {
			if !strings.Contains(header.String(), w) {
				t.Errorf("the header comment of %s does not mention %s", name, w)
			}
		}
	}
}
