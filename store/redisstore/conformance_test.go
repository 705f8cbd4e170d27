package redisstore_test

import "testing"

// TestMiniredis runs the conformance suites on miniredis: always, with no
// setup.
func TestMiniredis(t *testing.T) {
	_, c := newMiniredis(t)
	conformance(t, c)
}

// TestRedis runs the conformance suites on the Redis that
// RECOVERY_TEST_REDIS names.
func TestRedis(t *testing.T) {
	conformance(t, realRedis(t))
}

// TestCluster runs the conformance suites on a three-master Redis Cluster
// of local redis-server processes, started once per test binary.
func TestCluster(t *testing.T) {
	conformance(t, clusterClient(t))
}

// TestRedisAutoPipeline runs the conformance suites through go-redis's
// AutoPipeliner on the Redis that RECOVERY_TEST_REDIS names: concurrent
// calls share writes, and every guarantee still holds.
func TestRedisAutoPipeline(t *testing.T) {
	c := realRedis(t)
	ap, err := c.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	conformanceOn(t, ap, c)
}
