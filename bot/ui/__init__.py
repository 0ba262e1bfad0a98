"""What members see: job cards, the cancel button, and the sink that keeps cards current."""
