package model

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast"
)

func TestValidate(t *testing.T) {
	base := func() Config {
		return Config{Layers: 4, Hidden: 4096, Heads: 32, FFN: 11008, Vocab: 32000,
			MoE: &MoE{Experts: 64, TopK: 8, ExpertFFN: 1024, SharedExperts: 1}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		field string // "" when valid
		msg   string
	}{
		{"valid", func(c *Config) {}, "", ""},
		{"gpt-style block", func(c *Config) { c.Position, c.Norm, c.Bias, c.FFNKind = PositionLearned, NormLayer, true, FFNGELU }, "", ""},
		{"hidden not divisible by heads", func(c *Config) { c.Hidden = 4097 }, "model.hidden", "4097 is not divisible by heads=32, and head_dim is not given (allowed: a multiple of 32 (e.g. 4096), or give head_dim)"},
		{"hidden not divisible by heads with head_dim", func(c *Config) { c.Hidden, c.HeadDim = 4097, 128 }, "", ""},
		{"position", func(c *Config) { c.Position = "alibi" }, "model.position", `"alibi" is not allowed (allowed: rope, learned, none)`},
		{"norm", func(c *Config) { c.Norm = "batchnorm" }, "model.norm", "allowed: rmsnorm, layernorm"},
		{"mtp_depth negative", func(c *Config) { c.MTPDepth = -1 }, "model.mtp_depth", "0..4"},
		{"mtp_depth", func(c *Config) { c.MTPDepth = 1 }, "", ""},
		{"max groups", func(c *Config) { c.MoE.MaxGroupsPerToken = 4 }, "", ""},
		{"max groups above top_k", func(c *Config) { c.MoE.MaxGroupsPerToken = 9 }, "model.moe.max_groups_per_token", "0..8"},
		{"max groups negative", func(c *Config) { c.MoE.MaxGroupsPerToken = -1 }, "model.moe.max_groups_per_token", "0 (no limit)"},
		{"routing", func(c *Config) { c.MoE.Routing = "capacity" }, "model.moe.routing", "balanced, random, dropless"},
		{"dropless", func(c *Config) { c.MoE.Routing = RoutingDropless }, "", ""},
		{"load balance", func(c *Config) { c.MoE.Routing, c.MoE.LoadBalance = RoutingDropless, "sinkhorn" }, "model.moe.load_balance", "aux_loss, expert_bias"},
		{"expert bias", func(c *Config) { c.MoE.Routing, c.MoE.LoadBalance = RoutingDropless, BalanceExpertBias }, "", ""},
		{"aux loss", func(c *Config) { c.MoE.Routing, c.MoE.LoadBalance = RoutingDropless, BalanceAuxLoss }, "", ""},
		{"expert bias, routing balanced", func(c *Config) { c.MoE.Routing, c.MoE.LoadBalance = RoutingBalanced, BalanceExpertBias },
			"model.moe.load_balance", `"expert_bias" applies only to dropless routing, not to moe.routing: balanced (allowed: load_balance with routing: dropless; none with routing: balanced or random); try: set moe.routing: dropless, or remove moe.load_balance`},
		{"aux loss, routing random", func(c *Config) { c.MoE.Routing, c.MoE.LoadBalance = RoutingRandom, BalanceAuxLoss }, "model.moe.load_balance", "not to moe.routing: random"},
		{"random", func(c *Config) { c.MoE.Routing = RoutingRandom }, "", ""},
		{"aux loss, routing left to its default", func(c *Config) { c.MoE.LoadBalance = BalanceAuxLoss }, "model.moe.load_balance", "applies only to dropless routing"},
		{"zero heads", func(c *Config) { c.Heads = 0 }, "model.heads", "a positive integer"},
		{"sliding window", func(c *Config) { c.SlidingWindow, c.FullAttentionEvery = 128, 2 }, "", ""},
		{"sliding window negative", func(c *Config) { c.SlidingWindow = -1 }, "model.sliding_window", "0 (none) or a positive number of tokens"},
		{"full attention every without a window", func(c *Config) { c.FullAttentionEvery = 2 }, "model.full_attention_every", "needs a sliding window"},
		{"full attention every above layers", func(c *Config) { c.SlidingWindow, c.FullAttentionEvery = 128, 5 }, "model.full_attention_every", "0..4 (layers)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v; want field %s with %q", err, tc.field, tc.msg)
			}
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	c := Config{Layers: 2, Hidden: 64, Heads: 4, FFN: 256, Vocab: 100, MoE: &MoE{Experts: 4, TopK: 1, ExpertFFN: 64}}
	c.Normalize()
	if c.Position != PositionRoPE || c.Norm != NormRMS || c.Bias || c.MoE.Routing != RoutingBalanced || c.MTPDepth != 0 {
		t.Errorf("defaults: %+v %+v", c, *c.MoE)
	}
}

// The catalog describes each block as published.
func TestCatalogArchitecture(t *testing.T) {
	for _, tc := range []struct {
		name, position, norm string
		bias                 bool
		mtp, groups          int
		routing              string
	}{
		{"gpt3-175b", PositionLearned, NormLayer, true, 0, 0, ""},
		{"gpt3-13b", PositionLearned, NormLayer, true, 0, 0, ""},
		{"llama3-405b", PositionRoPE, NormRMS, false, 0, 0, ""},
		{"deepseek-v3", PositionRoPE, NormRMS, false, 1, 4, RoutingDropless},
		{"qwen3-235b-a22b", PositionRoPE, NormRMS, false, 0, 0, RoutingBalanced},
		{"mpt-70b", PositionNone, NormLayer, false, 0, 0, ""},
	} {
		c, ok := Lookup(tc.name)
		if !ok {
			t.Errorf("%s is not in the catalog", tc.name)
			continue
		}
		if c.Position != tc.position || c.Norm != tc.norm || c.Bias != tc.bias || c.MTPDepth != tc.mtp {
			t.Errorf("%s: position %s norm %s bias %v mtp %d", tc.name, c.Position, c.Norm, c.Bias, c.MTPDepth)
		}
		if c.MoE != nil && (c.MoE.MaxGroupsPerToken != tc.groups || c.MoE.Routing != tc.routing) {
			t.Errorf("%s: max_groups_per_token %d routing %s", tc.name, c.MoE.MaxGroupsPerToken, c.MoE.Routing)
		}
		if c.MoE != nil && (c.MoE.LoadBalance == BalanceExpertBias) != (tc.name == "deepseek-v3") {
			t.Errorf("%s: load_balance %q", tc.name, c.MoE.LoadBalance)
		}
	}
}
