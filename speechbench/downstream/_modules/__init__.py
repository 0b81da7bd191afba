"""Building blocks shared by several downstream tasks (pooling, frame-label alignment, data dirs)."""
