package main

import "testing"

func TestRequireLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:2525": true, "[::1]:2525": true, "localhost:2525": true,
		"0.0.0.0:2525": false, ":2525": false, "10.0.0.5:25": false, "127.0.0.1": false,
	} {
		if err := requireLoopback(addr); (err == nil) != ok {
			t.Errorf("requireLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}
