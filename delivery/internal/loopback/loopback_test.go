package loopback

import "testing"

func TestIs(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":                true,
		"LocalHost":                true,
		"127.0.0.1":                true,
		"127.1.2.3":                true,
		"127.255.255.255":          true,
		"::1":                      true,
		"[::1]":                    true,
		"0:0:0:0:0:0:0:1":          true,
		"[0:0:0:0:0:0:0:1]":        true,
		"::1%lo0":                  true,
		"[::1%lo0]":                true,
		"::ffff:127.0.0.1":         true,
		"[::ffff:127.0.0.1]":       true,
		"::ffff:7f00:1":            true,
		"":                         false,
		"[]":                       false,
		"[::1":                     false,
		"::1]":                     false,
		"[127.0.0.1]x":             false,
		"localhost.example.com":    false,
		"mylocalhost":              false,
		"example.com":              false,
		"128.0.0.1":                false,
		"126.255.255.255":          false,
		"0.0.0.0":                  false,
		"::":                       false,
		"::2":                      false,
		"[::2]":                    false,
		"::ffff:128.0.0.1":         false,
		"10.0.0.1":                 false,
		"fe80::1":                  false,
		"127.0.0.1:25":             false, // a host, not host:port
		"127.1":                    false, // shorthand is not an address
		"2130706433":               false, // nor is 127.0.0.1 as a number
		"127.000.000.001":          false, // nor zero-padded octets
		"localhost\r\nX-Evil: yes": false,
	} {
		if got := Is(host); got != want {
			t.Errorf("Is(%q) = %v, want %v", host, got, want)
		}
	}
}
