"""The testbed: a stand-in of the platform on loopback over HTTPS, with faults to switch on.

Run it with ``python -m smokegate.testbed``; drive it from tests with :class:`smokegate.testbed.control.RunningTestbed`.
"""
