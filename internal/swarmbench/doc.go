// Package swarmbench measures what many viewers of one video cost its
// origin (make bench-swarm): a real `fourmi serve` origin behind a counting
// reverse proxy, N real `fourmi get` viewer processes, and the same run with
// the viewers unable to find peers as the baseline. The benchmark itself is
// TestSwarmBench (run only with FOURMI_SWARM_BENCH=1); this package's
// non-test code is the harness's parts: the counting proxy, the on-disk
// probes of a viewer's file, and the private network namespace the
// processes run in.
package swarmbench
