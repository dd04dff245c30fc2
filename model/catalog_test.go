package model_test

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flopcast/flopcast/model"
)

// designModels are the catalog names docs/conventions.md promises to scripts.
var designModels = []string{
	"gpt3-175b", "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b",
	"llama3-70b", "llama3-405b", "mixtral-8x7b", "mixtral-8x22b",
	"deepseek-v3", "qwen3-235b-a22b",
}

func TestCatalogHasDesignModels(t *testing.T) {
	have := map[string]bool{}
	for _, n := range model.Names() {
		have[n] = true
	}
	var missing []string
	for _, n := range designModels {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if d := cmp.Diff([]string(nil), missing); d != "" {
		t.Errorf("models missing from catalog/models.yaml (-want +got):\n%s", d)
	}
}

func TestCatalogModelsWellFormed(t *testing.T) {
	for _, m := range model.Catalog() {
		t.Run(m.Name, func(t *testing.T) {
			if m.Name == "" {
				t.Error("empty name")
			}
			if m.Source == "" {
				t.Error("no source")
			}
			switch m.Confidence {
			case "", "high", "medium", "low":
			default:
				t.Errorf("confidence %q, want high, medium or low", m.Confidence)
			}
			if err := m.Validate(); err != nil {
				t.Error(err)
			}
			// A hidden width that the heads do not split evenly is a
			// transcription error (GPT-3 13B's table prints 5140 for
			// 40 heads of 128): the head shape would not tile the layer.
			if m.Hidden%m.Heads != 0 {
				t.Errorf("hidden %d is not divisible by heads %d", m.Hidden, m.Heads)
			}
			if m.MoE == nil && m.ActiveParams() != m.Params() {
				t.Errorf("dense model: active %v != total %v", m.ActiveParams(), m.Params())
			}
			if m.MoE != nil && !(m.ActiveParams() < m.Params()) {
				t.Errorf("MoE model: active %v not below total %v", m.ActiveParams(), m.Params())
			}
		})
	}
}

// Lookup must hand out copies, so a caller cannot change the catalog.
func TestLookupCopies(t *testing.T) {
	a, _ := model.Lookup("deepseek-v3")
	a.MoE.Experts = 1
	a.MLA.KVLoraRank = 1
	b, _ := model.Lookup("deepseek-v3")
	if b.MoE.Experts != 256 || b.MLA.KVLoraRank != 512 {
		t.Errorf("Lookup returned shared pointers: experts %d, kv_lora_rank %d", b.MoE.Experts, b.MLA.KVLoraRank)
	}
}
