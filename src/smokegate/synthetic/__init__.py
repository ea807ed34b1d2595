"""The synthetic suite's logic: what a real browser sees of the platform.

``config`` holds the ``[synthetic]`` section of a target; ``vitals`` turns Navigation Timing,
Largest Contentful Paint and layout shifts into samples; ``oauth`` judges an authorize URL;
``tls`` makes Chromium trust exactly the target's certificate; ``scrub`` keeps secrets out of
every artifact; ``journey`` drives the sign-in.  Everything but ``journey`` is free of Playwright
and pytest, so it is unit-tested without a browser.
"""
