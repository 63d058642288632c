// Package changepoint segments a series of binomial counts (trials and
// successes per time bucket) into stretches of constant success
// probability: penalised maximum likelihood solved by PELT (pruned exact
// optimal partitioning), with the likelihood scaled by an estimated
// overdispersion, and an interval for each change position from the
// profile likelihood of that position between its neighbouring changes.
//
// It is pure computation on slices: no I/O, no time zones, no knowledge
// of logs. It must not import any other cflens package; analyze turns its
// tallies into Bins and the positions back into times.
package changepoint
