"""Who is connected to the realtime stream, recorded durably and shared by every realtime replica."""
