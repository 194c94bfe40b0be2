"""What follows the event stream: transports and the consumers that keep derived state."""
