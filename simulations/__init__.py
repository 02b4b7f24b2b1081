"""The contact-centre simulator and the analytic queueing references (Erlang B, C, A)."""
