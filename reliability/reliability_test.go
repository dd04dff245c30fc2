package reliability

import (
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/internal/testkit"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

func ptr[T any](v T) *T { return &v }

func llama405() model.Config {
	return model.Config{Name: "llama3-405b", Layers: 126, Hidden: 16384, Heads: 128, KVHeads: 8, FFN: 53248, Vocab: 128256}
}

// resolved is Llama 3 405B on chips H100s, through spec.Resolve as a
// run.yaml would be. chips 0 skips Resolve, which would refuse it.
func resolved(chips int, rel spec.Reliability) *spec.Resolved {
	if chips <= 0 {
		return &spec.Resolved{Model: llama405(), Chips: chips, Training: spec.ResolvedTraining{Recipe: "megatron"}, Reliability: rel}
	}
	r, err := spec.Resolve(&spec.Run{Model: spec.ModelRef{Name: "llama3-405b"},
		Cluster:  spec.Cluster{Chip: "h100-sxm", Chips: chips},
		Training: spec.Training{SeqLen: 8192, GlobalBatch: 2048, Tokens: 15.6e12}})
	if err != nil {
		panic(err)
	}
	r.Reliability = rel // the bad values TestBadInput feeds would stop Resolve
	return r
}

var near = testkit.Near

func TestYoungDaly(t *testing.T) {
	for _, tc := range []struct {
		name               string
		delta, mtti        float64
		wantYoung, wantDal float64
	}{
		// Worked by hand: Young = √(2·60·3600) = 657.267;
		// x = 60/7200, Daly = 657.267·(1 + √x/3 + x/9) − 60 = 617.88.
		{"minute write, hour MTTI", 60, 3600, 657.267, 617.879},
		// x = 10/(2·11131) = 4.4919e-4: Young = 471.83, Daly = 471.83·1.0071144 − 10.
		{"Llama 3 scale", 10, 11131, 471.826, 465.183},
		// δ ≥ 2M: Daly falls back to M.
		{"write longer than 2 MTTI", 500, 200, math.Sqrt(2 * 500 * 200), 200},
		{"no write time", 0, 3600, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "Young", Young(tc.delta, tc.mtti), tc.wantYoung, 1e-5)
			near(t, "Daly", Daly(tc.delta, tc.mtti), tc.wantDal, 1e-5)
		})
	}
}

// Daly (2006) derives his interval as the minimiser of the expected wall
// time of a job under exponential failures, T_w(τ) = M·e^(R/M)·(e^((τ+δ)/M) − 1)·T_s/τ
// (his eq. 11). Minimising that expression numerically, with no use of the
// closed form, must land on Daly's interval, and Young's must lie farther
// from it as δ/M grows.
func TestDalyMinimisesExpectedWallTime(t *testing.T) {
	wall := func(tau, delta, mtti float64) float64 {
		return mtti * (math.Exp((tau+delta)/mtti) - 1) / tau // R and T_s scale it only
	}
	for _, tc := range []struct{ delta, mtti float64 }{
		{10, 11131},  // Llama 3 scale: a 10 s write, MTTI 3.1 h
		{60, 3600},   // a minute's write, hourly interruptions
		{300, 3600},  // slow storage
		{900, 36000}, // a 15-minute write, MTTI 10 h
	} {
		// Golden-section search for the minimum over (0, 2M).
		a, b := 1e-3, 2*tc.mtti
		g := (math.Sqrt(5) - 1) / 2
		for range 200 {
			c, d := b-g*(b-a), a+g*(b-a)
			if wall(c, tc.delta, tc.mtti) < wall(d, tc.delta, tc.mtti) {
				b = d
			} else {
				a = c
			}
		}
		best := (a + b) / 2
		daly, young := Daly(tc.delta, tc.mtti), Young(tc.delta, tc.mtti)
		// Daly's series is accurate to a fraction of a percent for δ/M ≤ 0.1.
		near(t, fmt.Sprintf("Daly δ=%v M=%v", tc.delta, tc.mtti), daly, best, 0.01)
		if math.Abs(young-best) < math.Abs(daly-best) {
			t.Errorf("δ=%v M=%v: Young %.1f s is nearer the optimum %.1f s than Daly %.1f s", tc.delta, tc.mtti, young, best, daly)
		}
	}
}

// The catalog's site profiles reproduce the intervals their sources
// published: Meta's Llama 3 job was interrupted about every 3 hours on
// 16,384 GPUs (419 in 54 days: 3.09 h); Kokolis et al. project 7.9 h for
// 1,024-GPU jobs on RSC.
func TestSiteIntervals(t *testing.T) {
	d := CatalogDefaults()
	for _, tc := range []struct {
		site  string
		chips int
		mtti  float64
	}{{"llama3", 16384, 54 * 24.0 / 419}, {"rsc", 1024, 7.9}} {
		s, ok := d.LookupSite(tc.site)
		if !ok {
			t.Fatalf("site %s is not in the catalog", tc.site)
		}
		near(t, tc.site+" MTTI", MTTI(s.FailuresPerChipHour.Value, tc.chips), tc.mtti, 0.005)
	}
	lo, hi := d.Spread()
	if ratio := hi.FailuresPerChipHour.Value / lo.FailuresPerChipHour.Value; ratio < 4 || ratio > 8 {
		t.Errorf("site spread %s..%s is %.1f×, the published rates differ about 6×", lo.Name, hi.Name, ratio)
	}
	mid, _ := d.LookupSite(d.Site)
	if v := mid.FailuresPerChipHour.Value; !(v > lo.FailuresPerChipHour.Value && v < hi.FailuresPerChipHour.Value) {
		t.Errorf("default site %s (%.3g) is not inside the spread", d.Site, v)
	}
}

// Kokolis et al. (HPCA 2025) project an MTTF of 7.9 h for 1,024-GPU jobs and
// 1.8 h for 16,384-GPU jobs on their A100 research clusters. The model is
// not tuned to them; this reports how far the Llama 3 rate lands. Their two
// projections fall by 4.4×, not 16×, between the two sizes, so a rate linear
// in chips cannot match both.
func TestMTTIAgainstKokolis(t *testing.T) {
	llama3, _ := CatalogDefaults().LookupSite("llama3")
	lambda := llama3.FailuresPerChipHour.Value
	for _, tc := range []struct {
		chips   int
		kokolis float64
	}{{1024, 7.9}, {16384, 1.8}} {
		got := MTTI(lambda, tc.chips)
		rel := got/tc.kokolis - 1
		t.Logf("chips %5d: model MTTI %.1f h, Kokolis %.1f h, error %+.0f%%", tc.chips, got, tc.kokolis, 100*rel)
		// Only a gross unit error fails: within a factor of 10.
		if got < tc.kokolis/10 || got > tc.kokolis*10 {
			t.Errorf("chips %d: MTTI %.2f h is more than 10× off Kokolis's %.1f h", tc.chips, got, tc.kokolis)
		}
	}
}

func TestCheckpointSize(t *testing.T) {
	for _, tc := range []struct {
		recipe string
		bpp    float64
	}{{"megatron", 14}, {"pytorch-amp", 12}} {
		t.Run(tc.recipe, func(t *testing.T) {
			r := resolved(16384, spec.Reliability{})
			r.Training.Recipe = spec.Recipe(tc.recipe)
			m, err := New(r)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "checkpoint bytes", m.CheckpointBytes, 405e9*tc.bpp, 0.01)
			// Storage grows with the cluster: 0.122 GB/s per chip.
			near(t, "write s", m.CheckpointWriteS, m.CheckpointBytes/(0.122e9*16384), 1e-9)
		})
	}
}

func TestOverrides(t *testing.T) {
	r := resolved(1000, spec.Reliability{
		MTTIHours: ptr(2.0), CheckpointWriteS: ptr(30.0), RestartS: ptr(120.0),
	})
	m, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "MTTI", m.MTTIHours, 2, 1e-12)
	near(t, "λ", m.FailuresPerChipHour, 1/(2.0*1000), 1e-12)
	near(t, "interval", m.CheckpointIntervalS, Daly(30, 7200), 1e-12)
	near(t, "restart", m.RestartS, 120, 0)

	r = resolved(1000, spec.Reliability{FailuresPerChipHour: ptr(1e-4), StorageGBps: ptr(100.0), CheckpointIntervalS: ptr(1800.0)})
	if m, err = New(r); err != nil {
		t.Fatal(err)
	}
	near(t, "MTTI", m.MTTIHours, 10, 1e-12)
	near(t, "write", m.CheckpointWriteS, m.CheckpointBytes/100e9, 1e-12)
	if m.CheckpointIntervalS != 1800 || m.IntervalRule != "given" {
		t.Errorf("interval %v (%s), want 1800 given", m.CheckpointIntervalS, m.IntervalRule)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		field string
		rel   spec.Reliability
		chips int
	}{
		{"reliability.failures_per_chip_hour", spec.Reliability{FailuresPerChipHour: ptr(0.0)}, 8},
		{"reliability.mtti_hours", spec.Reliability{MTTIHours: ptr(-1.0)}, 8},
		{"reliability.checkpoint_write_s", spec.Reliability{CheckpointWriteS: ptr(-5.0)}, 8},
		{"reliability.checkpoint_interval_s", spec.Reliability{CheckpointIntervalS: ptr(0.0)}, 8},
		{"reliability.storage_gbps", spec.Reliability{StorageGBps: ptr(math.NaN())}, 8},
		{"reliability.restart_s", spec.Reliability{RestartS: ptr(-1.0)}, 8},
		{"reliability.mtti_hours", spec.Reliability{MTTIHours: ptr(1.0), FailuresPerChipHour: ptr(1e-5)}, 8},
		{"cluster.chips", spec.Reliability{}, 0},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := New(resolved(tc.chips, tc.rel))
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name %s", err, tc.field)
			}
		})
	}
	r := resolved(8, spec.Reliability{})
	r.Training.Recipe = "jax"
	if _, err := New(r); err == nil || !strings.Contains(err.Error(), "training.recipe") {
		t.Errorf("unknown recipe: err = %v, want one naming training.recipe", err)
	}
}

func TestTimelineAddsUp(t *testing.T) {
	m, err := New(resolved(16384, spec.Reliability{Site: "llama3"}))
	if err != nil {
		t.Fatal(err)
	}
	work := 50 * 86400.0
	tl, err := m.Timeline(work)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "wall = parts", tl.WallS, tl.WorkS+tl.CheckpointS+tl.RestartS+tl.LostS, 1e-12)
	near(t, "interruptions", tl.Interruptions, tl.WallS/(m.MTTIHours*3600), 1e-12)
	near(t, "goodput", tl.Goodput, work/tl.WallS, 1e-12)
	// Llama 3 reports > 90% effective training time at this scale.
	if tl.Goodput < 0.85 || tl.Goodput >= 1 {
		t.Errorf("goodput %.3f at 16,384 chips, want within [0.85, 1)", tl.Goodput)
	}
	t.Logf("16,384 chips: MTTI %.2f h, write %.1f s, interval %.0f s, goodput %.3f, %.0f interruptions in %.1f days",
		m.MTTIHours, m.CheckpointWriteS, m.CheckpointIntervalS, tl.Goodput, tl.Interruptions, tl.WallS/86400)
}

func TestGoodputFallsWithChips(t *testing.T) {
	for _, tc := range []struct {
		name string
		rel  spec.Reliability
	}{
		{"catalog defaults", spec.Reliability{}},
		{"fixed write time", spec.Reliability{CheckpointWriteS: ptr(60.0)}},
		{"fixed storage", spec.Reliability{StorageGBps: ptr(1000.0)}},
		{"no restart cost", spec.Reliability{RestartS: ptr(0.0), CheckpointWriteS: ptr(30.0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := 1.0
			for _, chips := range []int{512, 2048, 8192, 16384, 32768, 65536} {
				m, err := New(resolved(chips, tc.rel))
				if err != nil {
					t.Fatal(err)
				}
				tl, err := m.Timeline(30 * 86400)
				if err != nil {
					t.Fatal(err)
				}
				if !(tl.Goodput < prev) {
					t.Errorf("%d chips: goodput %.4f not below %.4f at fewer chips", chips, tl.Goodput, prev)
				}
				prev = tl.Goodput
			}
		})
	}
}

func TestNoProgress(t *testing.T) {
	// A million chips at the Llama 3 rate: MTTI ≈ 3 min, restart 10 min.
	m, err := New(resolved(1_000_000, spec.Reliability{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Timeline(86400)
	var np *NoProgressError
	if !errors.As(err, &np) {
		t.Fatalf("err = %v, want NoProgressError", err)
	}
	if !strings.Contains(err.Error(), "reliability.restart_s") {
		t.Errorf("message %q gives no hint", err)
	}
}
