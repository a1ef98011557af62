package ecs_test

import (
	"strings"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
)

// TestNotStoppedSaysTheStatusInTheReadersLanguage: the refusal of an
// instance that is not Stopped names its status in Chinese (运行中), not
// ECS's English word inside a Chinese sentence; in English it stays ECS's.
func TestNotStoppedSaysTheStatusInTheReadersLanguage(t *testing.T) {
	if err := i18n.Load(); err != nil {
		t.Fatal(err)
	}
	zh := i18n.For(i18n.Chinese)
	for status, want := range map[string]string{ecs.StatusRunning: "运行中", ecs.StatusStarting: "启动中", ecs.StatusStopping: "停止中", ecs.StatusPending: "准备中"} {
		e := ecs.Check(ecs.Instance{ID: "i-x1", Status: status}, false, nil, time.Now())
		if e == nil {
			t.Fatalf("%s: no refusal", status)
		}
		if got := e.SummaryIn(zh); !strings.Contains(got, want) || strings.Contains(got, status) {
			t.Errorf("%s: %q, want %s and not %s", status, got, want, status)
		}
		if got := e.SummaryIn(i18n.For(i18n.English)); got != e.Summary {
			t.Errorf("%s: in English %q, want %q", status, got, e.Summary)
		}
	}
}

// TestAnExpiryIsADayInTheReadersZone: an expiry at 16:00Z is the next day
// in Asia/Shanghai (UTC+8); without a zone it is UTC's day.
func TestAnExpiryIsADayInTheReadersZone(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	in := ecs.Instance{ExpiredTime: time.Date(2027, 3, 9, 16, 0, 0, 0, time.UTC)}
	if got := in.ExpiryDate(sh); got != "2027-03-10" {
		t.Errorf("in Asia/Shanghai: %s, want 2027-03-10", got)
	}
	if got := in.ExpiryDate(nil); got != "2027-03-09" {
		t.Errorf("in UTC: %s, want 2027-03-09", got)
	}
}
