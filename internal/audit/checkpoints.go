package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Checkpoints go to the process's log every checkpointEvery entries and
// every checkpointInterval, and at start-up.
const (
	checkpointEvery    = 1000
	checkpointInterval = time.Hour
)

// CheckpointLoop logs a signed checkpoint of the chain's head every
// checkpointEvery entries and every checkpointInterval, so that a copy of
// the process's logs kept elsewhere shows if the audit log is later cut
// short (web audit verify --head SEQ:HASH). written counts the entries
// written (here and, followed, by other replicas), and grew is signalled
// when it moves (a signal may stand for several). It returns nil when ctx
// ends.
func (l *Log) CheckpointLoop(ctx context.Context, written func() int64, grew <-chan struct{}, logger *slog.Logger) error {
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	last := written()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-grew:
			if written()-last < checkpointEvery {
				continue
			}
		}
		last = written()
		l.LogCheckpoint(ctx, logger)
	}
}

// LogCheckpoint logs one signed checkpoint of the head (a failure as a
// warning: the next one will do).
func (l *Log) LogCheckpoint(ctx context.Context, logger *slog.Logger) {
	c, err := l.Checkpoint(ctx)
	if err != nil {
		logger.Warn("audit checkpoint failed", "err", err)
		return
	}
	logger.Info("audit checkpoint", "head", fmt.Sprintf("%d:%s", c.Seq, c.Hash), "time", c.Time.Format(time.RFC3339), "signature", c.Signature)
}
