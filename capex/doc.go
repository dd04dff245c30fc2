// Package capex plans what a capital budget buys: installed chips, their
// power, the split of the spend, the BF16 FLOPs they deliver in a year, and
// for each model the job that trains it best.
//
// A job grows in powers of two from 8 chips up to the fleet. Each size is
// searched for its best layout (package search) with the global batch held
// within the largest useful batch for the run's compute (DeepSeek LLM
// scaling law, B = 0.292·C^0.3271 tokens); the job is the largest size
// whose MFU stays within 90% of the best found. One run at that size is
// followed to the whole run (package economics): days with failures, a
// range, energy and cost; the fleet runs fleet/job such jobs at once.
package capex
