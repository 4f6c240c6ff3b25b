"""The demo's data: a speech-like synthesiser and a Speech Commands-layout archive writer.

Nothing here is part of the paper's pipeline; it stands in for the real download offline.
"""
