// Package leetfold folds a password byte by byte the way the built-in
// common-password lists are stored: lower case, with leetspeak undone. The
// recovery package's check and the generator of its lists (commonpwgen)
// share it, so the two cannot drift apart.
package leetfold

// Byte maps c to the byte that stands for it in the lists: letters in lower
// case, and leetspeak undone with the letters that share a leet digit
// merged ("1", "!", "|", "l" and "i" are all "i"), so that one look-up
// covers every reading. Merging makes a few unrelated words collide, which
// only refuses a few more passwords.
func Byte(c byte) byte {
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
