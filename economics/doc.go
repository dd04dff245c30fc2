// Package economics follows a training run from its step time to the whole
// run's wall time, cost, energy and carbon, and connects a capex budget to
// the chips, power and training runs it buys.
//
// Whole run (WholeRun):
//
//	steps    = Σ stage tokens / (stage global_batch · seq_len)
//	work U   = Σ stage steps · step_time · stage batch / global_batch
//	wall     = reliability.Timeline(U)        checkpoints, restarts, lost work
//	chip-h   = chips · wall
//	rent     = chip-h · price per chip-hour
//	own      = chip-h · (chip + server/network) / (depreciation · 8766 h)
//	         + chip-h · facility $/MW · (TDP + host) / (facility life · 8766 h)
//	         + energy · electricity price
//	P_busy   = idle + (TDP − idle) · u,  u = compute_s / step_time_s
//	energy   = chips · PUE · [(P_busy + host) · (U + lost) + (idle + host) · (checkpoints + restarts)]
//	CO2      = energy · grid kg/kWh (location-based); market-based when given
//
// Capex (Capex):
//
//	all-in per chip = chip + server/network + facility $/MW · (TDP + host)
//	chips           = ⌊budget / all-in⌋
//	power           = chips · (TDP + host) · PUE
//	annual FLOP     = chips · BF16 peak · MFU · 8766 h · 3600 s
//	days per run    = model FLOPs / (chips · BF16 peak · MFU)
//
// Defaults come from catalog/economics.yaml, each with its source and date.
package economics
