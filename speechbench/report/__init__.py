"""Results of finished experiments: per-experiment RESULTS.md, recipe summaries, the leaderboard."""
