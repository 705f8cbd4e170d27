package redisstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix of a zero Options.
const DefaultPrefix = "recovery:"

// Options configures a CodeStore or a Limiter. The zero value is usable.
type Options struct {
	// Prefix starts every key the store writes, so that several stores,
	// tenants or environments can share one Redis. It must not contain '{'
	// or '}' (the hash tag follows it). Default DefaultPrefix, "recovery:".
	Prefix string
}

// prefix validates o and returns its prefix with the default applied.
func (o Options) prefix(c redis.Scripter) (string, error) {
	var errs []error
	if c == nil {
		errs = append(errs, errors.New("redisstore: the client is nil: pass a redis.NewClient, redis.NewFailoverClient or redis.NewClusterClient"))
	}
	p := o.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	if strings.ContainsAny(p, "{}") {
		errs = append(errs, fmt.Errorf("redisstore: Options.Prefix %q contains '{' or '}': remove them, the store adds its own hash tag after the prefix", o.Prefix))
	}
	return p, errors.Join(errs...)
}

// tagEscaper escapes what may not appear raw inside a hash tag: '}' would
// end the tag, '|' separates its parts, '%' is the escape itself, and '{'
// is escaped for symmetry.
var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", "|", "%7C")

// tag escapes s for use inside a {hash tag}, so that a tag never ends early
// and a tag made of parts splits into them one way only. The empty string
// becomes "%00", which no other string escapes to, so that no tag is empty
// ("{}" is not a hash tag to Redis Cluster).
func tag(s string) string {
	if s == "" {
		return "%00"
	}
	if !strings.ContainsAny(s, "%{}|") {
		return s
	}
	return tagEscaper.Replace(s)
}

// codeKey is the hash holding the whole record of one user of one pool:
// <prefix>code:{<pool>|<user key>}.
func codeKey(prefix, pool, userKey string) string {
	return prefix + "code:{" + tag(pool) + "|" + tag(userKey) + "}"
}

// rateKey is the hash of one request counter of a pool:
// <prefix>rate:{<pool>}:<key>. Every counter of a pool shares the tag.
func rateKey(prefix, pool, key string) string {
	return prefix + "rate:{" + tag(pool) + "}:" + key
}
