"""websocket package."""
