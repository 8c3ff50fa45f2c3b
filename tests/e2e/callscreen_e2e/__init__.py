"""The end-to-end harness: real SIP calls (SIPp) through a real Asterisk 22 in a Debian sid chroot.

`tools/e2e/run` builds the chroot, installs the project into it and runs `pytest tests/e2e`;
the modules here start and stop the parts (Redis, the FastAGI server, Asterisk, SIPp) and read
what they saw. Outcomes are read from SIPp's traces, the audio that arrives on RTP ports and the
lines Asterisk's dialplan logs, never from callscreen's own claims.
"""
