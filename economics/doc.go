// Package economics follows a training run from its step time to the whole
// run's wall time, cost, energy and carbon. It is the one home of a chip's
// rent and power, of a run's failure-free span, and of the Chinchilla run
// length; the layout search and capex planning use them from here.
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
//	chips    = chips · [P_busy · (U + lost) + idle · (checkpoints + restarts)]   energy_chips_mwh
//	IT       = chips energy + chips · host · wall                                energy_it_mwh
//	facility = IT · PUE                                                          energy_mwh
//	CO2      = facility · grid kg/kWh (location-based); co2_chips_t on the chips' energy
//
// The range of days, chip-hours, cost and energy is the same run with the
// step time moved by the step-time model's error (an input: validation
// lives above this package) and the failure rate at the lowest and highest
// published site (package reliability).
//
// Defaults come from catalog/economics.yaml, each with its source and date.
package economics
