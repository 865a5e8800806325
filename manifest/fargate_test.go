package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fargateBase is a fleet with no capacity group: its one service runs on Fargate Spot
// with a Fargate base, and a fallback between the two.
const fargateBase = `name: web
services:
  - name: web
    command: [x]
    cpu: 256
    memory: 512
    capacityProviderStrategy:
      - {capacityProvider: FARGATE, base: 1, weight: 0}
      - {capacityProvider: FARGATE_SPOT, weight: 1}
`

func TestFargateRules(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"valid without capacity groups", fargateBase + "fallback: {from: FARGATE_SPOT, to: FARGATE}\n", nil},
		{"no strategy and no group", "name: web\nservices:\n  - name: web\n    command: [x]\n", []string{
			`m.yaml:3:5: service "web" needs a capacityProviderStrategy: the fleet has no capacity group (such as capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 1}])`,
		}},
		{"mixed with a group", base + "services:\n  - name: web\n    command: [x]\n    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}, {capacityProvider: spot}]\n", []string{
			`m.yaml:11:85: capacity group "spot" in a strategy with Fargate providers (ECS takes either FARGATE and FARGATE_SPOT or capacity groups in one strategy: give the service one kind)`,
		}},
		{"memory not a Fargate size", "name: web\nservices:\n  - name: web\n    command: [x]\n    cpu: 1024\n    memory: 1536\n    capacityProviderStrategy: [{capacityProvider: FARGATE}]\n", []string{
			`m.yaml:6:13: Fargate has no task size of cpu 1024 and memory 1536 MiB (memory 1536 MiB) (cpu 1024: memory 2048 to 8192 in steps of 1024; the nearest that holds the task is cpu 1024 with memory 2048)`,
		}},
		{"cpu not a Fargate size", "name: web\nservices:\n  - name: web\n    command: [x]\n    cpu: 300\n    memory: 512\n    capacityProviderStrategy: [{capacityProvider: FARGATE}]\n", []string{
			`m.yaml:5:10: Fargate has no task size of cpu 300 and memory 512 MiB (cpu 300) (cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384; the nearest that holds the task is cpu 512 with memory 1024)`,
		}},
		{"memory above the cpu's range", "name: web\nservices:\n  - name: web\n    command: [x]\n    cpu: 256\n    memory: 4096\n    capacityProviderStrategy: [{capacityProvider: FARGATE}]\n", []string{
			`m.yaml:6:13: Fargate has no task size of cpu 256 and memory 4096 MiB (memory 4096 MiB) (cpu 256: memory 512, 1024 or 2048; the nearest that holds the task is cpu 512 with memory 4096)`,
		}},
		{"Fargate Spot on ARM64", "name: web\nservices:\n  - name: web\n    command: [x]\n    cpuArchitecture: ARM64\n    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}]\n", []string{
			`m.yaml:6:51: FARGATE_SPOT runs only X86_64 Linux tasks; the service is ARM64 (use FARGATE for ARM64 tasks, or set cpuArchitecture: X86_64)`,
		}},
		{"ARM64 on FARGATE is fine", "name: web\nservices:\n  - name: web\n    command: [x]\n    cpuArchitecture: ARM64\n    capacityProviderStrategy: [{capacityProvider: FARGATE}]\n", nil},
		{"stop timeout past 2 minutes", "name: web\nservices:\n  - name: web\n    command: [x]\n    stopTimeout: 121s\n    capacityProviderStrategy: [{capacityProvider: FARGATE}]\n", []string{
			`m.yaml:5:18: stopTimeout: 2m1s is out of range: must be between 0s and 2m`,
		}},
		{"fallback the wrong way", fargateBase + "fallback: {from: FARGATE, to: FARGATE_SPOT}\n", []string{
			`m.yaml:10:18: fallback.from "FARGATE": with Fargate, only FARGATE_SPOT can be short (a Fargate fallback goes from FARGATE_SPOT to FARGATE)`,
			`m.yaml:10:31: fallback.to "FARGATE_SPOT": FARGATE_SPOT is covered on FARGATE (a Fargate fallback goes from FARGATE_SPOT to FARGATE)`,
		}},
		{"fallback from Fargate Spot to a group", base + "fallback: {from: FARGATE_SPOT, to: od}\nservices: [{name: w, command: [x]}]\n", []string{
			`m.yaml:8:36: fallback.to "od": FARGATE_SPOT is covered on FARGATE (a Fargate fallback goes from FARGATE_SPOT to FARGATE)`,
		}},
		{"misspelt provider", "name: web\nservices:\n  - name: web\n    command: [x]\n    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOTT}]\n", []string{
			`m.yaml:5:51: capacity provider "FARGATE_SPOTT" does not exist (did you mean "FARGATE_SPOT"?)`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("m.yaml", []byte(tc.yaml))
			if diff := cmp.Diff(tc.want, diagStrings(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\ngot: %q", diff, diagStrings(diags))
			}
		})
	}
}

func TestFargateSize(t *testing.T) {
	for _, tc := range []struct {
		cpu, mem, wantCPU, wantMem int
		ok                         bool
	}{
		{256, 512, 256, 512, true}, {256, 2048, 256, 2048, true}, {256, 1536, 256, 2048, false},
		{512, 3072, 512, 3072, true}, {4096, 30720, 4096, 30720, true}, {8192, 20480, 8192, 20480, true},
		{8192, 18432, 8192, 20480, false}, {16384, 122880, 16384, 122880, true}, {16384, 200000, 16384, 122880, false},
	} {
		ok, c, m := FargateSize(tc.cpu, tc.mem)
		if ok != tc.ok || c != tc.wantCPU || m != tc.wantMem {
			t.Errorf("FargateSize(%d, %d) = %v %d %d, want %v %d %d", tc.cpu, tc.mem, ok, c, m, tc.ok, tc.wantCPU, tc.wantMem)
		}
	}
}
