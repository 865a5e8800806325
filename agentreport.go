package spotfleet

import "time"

// AgentReport is what `spotfleet agent` posts to the controller (POST /v1/notices) when the
// metadata service of its instance shows a notice: one wire format for both ends. Document
// and Signature are the instance identity document and its base64 signature, as the
// metadata service serves them: the report is taken only for the instance the signed
// document names.
type AgentReport struct {
	Instance  string    `json:"instance"`
	Kind      EventKind `json:"kind"`              // interruption or rebalance
	Deadline  time.Time `json:"deadline,omitzero"` // the metadata's instance-action time
	Document  string    `json:"document"`
	Signature string    `json:"signature"`
}
