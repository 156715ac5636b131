package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummary(t *testing.T) {
	const cx600, cx700 = "UCPhone/Polycom/CX600/A/ENU", "UCPhone/Polycom/CX700/A/ENU"
	dev := func(key, identity, seen string, mods ...Module) Device {
		return Device{Key: key, Identity: identity, LastSeen: at(seen), Modules: mods}
	}
	fleet := &Fleet{Devices: []Device{
		dev("mac:1", cx600, "2024-05-01T10:00:00Z", Module{"CPE.nbt", "4.0.7577.4398"}, Module{"Sig.nbt", "1.0.0.1"}),
		dev("mac:2", cx600, "2024-05-02T10:00:00Z", Module{"CPE.nbt", "4.0.7577.4363"}, Module{"Sig.nbt", "1.0.0.1"}),
		dev("mac:3", cx600, "2024-05-01T11:00:00Z", Module{"CPE.nbt", "4.0.7577.10000"}, Module{"Sig.nbt", "junk"}),
		dev("mac:4", cx600, "2024-04-01T11:00:00Z", Module{"CPE.nbt", "4.0.7577.4398"}),
		dev("mac:5", cx700, "2024-04-02T11:00:00Z", Module{"CPE.nbt", "4.0.7577.4363"}),
		dev("client:6", "////", "2024-04-03T11:00:00Z"),
	}}
	approved := func(identity, updateType string) (string, bool) {
		switch {
		case identity == cx600 && updateType == "CPE":
			return "4.0.7577.4398", true
		case identity == cx600 && updateType == "Sig":
			return "1.0.0.1", true
		}
		return "", false
	}
	got := fleet.Summary(approved)
	want := &Summary{
		Devices:     6,
		NotApproved: 2,
		Identities: []IdentitySummary{
			{Identity: "////", Devices: 1, LastSeen: at("2024-04-03T11:00:00Z"), Modules: []ModuleSummary{}},
			{
				Identity: cx600, Devices: 4, NotApproved: 2, LastSeen: at("2024-05-02T10:00:00Z"),
				Modules: []ModuleSummary{
					{
						Name: "CPE.nbt", UpdateType: "CPE", Approved: "4.0.7577.4398", Devices: 4, NotApproved: 2,
						Versions: []VersionCount{
							{"4.0.7577.4363", 1, at("2024-05-02T10:00:00Z")},
							{"4.0.7577.4398", 2, at("2024-05-01T10:00:00Z")},
							{"4.0.7577.10000", 1, at("2024-05-01T11:00:00Z")},
						},
					},
					{
						Name: "Sig.nbt", UpdateType: "Sig", Approved: "1.0.0.1", Devices: 3, NotApproved: 1,
						Versions: []VersionCount{
							{"1.0.0.1", 2, at("2024-05-02T10:00:00Z")},
							{"junk", 1, at("2024-05-01T11:00:00Z")},
						},
					},
				},
			},
			{
				Identity: cx700, Devices: 1, LastSeen: at("2024-04-02T11:00:00Z"),
				Modules: []ModuleSummary{{
					Name: "CPE.nbt", UpdateType: "CPE", Devices: 1,
					Versions: []VersionCount{{"4.0.7577.4363", 1, at("2024-04-02T11:00:00Z")}},
				}},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}

	var text bytes.Buffer
	if err := got.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	wantText := `////: 1 device, last seen 2024-04-03T11:00:00Z

UCPhone/Polycom/CX600/A/ENU: 4 devices, last seen 2024-05-02T10:00:00Z
  CPE.nbt: 4 devices, approved 4.0.7577.4398, 2 not on it
    4.0.7577.4363   1  last seen 2024-05-02T10:00:00Z
    4.0.7577.4398   2  last seen 2024-05-01T10:00:00Z  approved
    4.0.7577.10000  1  last seen 2024-05-01T11:00:00Z
  Sig.nbt: 3 devices, approved 1.0.0.1, 1 not on it
    1.0.0.1  2  last seen 2024-05-02T10:00:00Z  approved
    junk     1  last seen 2024-05-01T11:00:00Z

UCPhone/Polycom/CX700/A/ENU: 1 device, last seen 2024-04-02T11:00:00Z
  CPE.nbt: 1 device, no approved version
    4.0.7577.4363  1  last seen 2024-04-02T11:00:00Z

6 devices, 2 not on an approved version
`
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	var csvOut bytes.Buffer
	if err := got.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	wantCSV := `identity,module,update_type,version,devices,last_seen,approved,on_approved
UCPhone/Polycom/CX600/A/ENU,CPE.nbt,CPE,4.0.7577.4363,1,2024-05-02T10:00:00Z,4.0.7577.4398,no
UCPhone/Polycom/CX600/A/ENU,CPE.nbt,CPE,4.0.7577.4398,2,2024-05-01T10:00:00Z,4.0.7577.4398,yes
UCPhone/Polycom/CX600/A/ENU,CPE.nbt,CPE,4.0.7577.10000,1,2024-05-01T11:00:00Z,4.0.7577.4398,no
UCPhone/Polycom/CX600/A/ENU,Sig.nbt,Sig,1.0.0.1,2,2024-05-02T10:00:00Z,1.0.0.1,yes
UCPhone/Polycom/CX600/A/ENU,Sig.nbt,Sig,junk,1,2024-05-01T11:00:00Z,1.0.0.1,no
UCPhone/Polycom/CX700/A/ENU,CPE.nbt,CPE,4.0.7577.4363,1,2024-04-02T11:00:00Z,,
`
	if diff := cmp.Diff(wantCSV, csvOut.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}

	var jsonOut bytes.Buffer
	if err := (&Fleet{Devices: fleet.Devices[4:5]}).Summary(nil).WriteJSON(&jsonOut); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{
  "devices": 1,
  "not_approved": 0,
  "identities": [
    {
      "identity": "UCPhone/Polycom/CX700/A/ENU",
      "devices": 1,
      "not_approved": 0,
      "last_seen": "2024-04-02T11:00:00Z",
      "modules": [
        {
          "name": "CPE.nbt",
          "update_type": "CPE",
          "devices": 1,
          "not_approved": 0,
          "versions": [
            {
              "version": "4.0.7577.4363",
              "devices": 1,
              "last_seen": "2024-04-02T11:00:00Z"
            }
          ]
        }
      ]
    }
  ]
}
`
	if diff := cmp.Diff(wantJSON, jsonOut.String()); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestSummaryEmpty(t *testing.T) {
	var text, js bytes.Buffer
	s := (&Fleet{}).Summary(nil)
	s.WriteText(&text)
	s.WriteJSON(&js)
	if got, want := text.String(), "0 devices, 0 not on an approved version\n"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got := js.String(); !strings.Contains(got, `"identities": []`) {
		t.Errorf("JSON %s: want an empty list of identities", got)
	}
}

func TestUpdateType(t *testing.T) {
	for name, want := range map[string]string{"CPE.nbt": "CPE", "CPE": "CPE", "a.b.c": "a.b", ".nbt": "", "": ""} {
		if got := (Module{Name: name}).UpdateType(); got != want {
			t.Errorf("UpdateType(%q) = %q, want %q", name, got, want)
		}
	}
}
