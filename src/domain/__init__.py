"""Practice Portal's domain: plain Python, no framework, no I/O."""
