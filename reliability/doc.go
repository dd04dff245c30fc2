// Package reliability models interruptions of a training job: the failure
// rate per chip-hour, the job's mean time to interrupt, the checkpoint size
// and write time, the checkpoint interval by Young or Daly, and what
// failures cost in wall time (lost work, restarts, checkpoints) and so in
// goodput.
//
// The model:
//
//	MTTI      M = 1 / (λ · chips)                      λ per chip-hour of the site profile
//	write     δ = params · bytes/param / storage GB/s  or reliability.checkpoint_write_s
//	interval  T = Daly(δ, M)                           or reliability.checkpoint_interval_s
//	lost      L = T/2 + R                              per interruption, R the restart time
//	wall      W = (U + U/T·δ) / (1 − L/M)              U the failure-free training time
//	goodput     = U / W,  interruptions = W / M
//
// Published failure rates differ about 6× between sites (Meta's Llama 3
// job, Meta's RSC research clusters). A run picks a site profile with
// reliability.site; the default is the geometric middle of the two, and
// Spread gives the ends for a range.
package reliability
