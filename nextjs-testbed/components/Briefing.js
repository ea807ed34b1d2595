"use client";

// The landing page's morning-briefing widget.  Its faults: a crash right after hydration, one 300 ms
// later (a widget failing after its data arrives), and a hero that waits on a slow API call.
import { useEffect, useState } from "react";

function crash() {
  let briefing;
  return briefing.items.map((item) => item.id); // TypeError: briefing is undefined
}

export default function Briefing({ throwsNow, throwsLate, slowHero }) {
  const [headline, setHeadline] = useState(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const timers = [];
    if (throwsNow) timers.push(setTimeout(crash, 0));
    if (throwsLate) timers.push(setTimeout(crash, 300));
    if (slowHero) {
      fetch("/api/highlights")
        .then((answer) => answer.json())
        .then((data) => setHeadline(data.headline));
    }
    return () => timers.forEach(clearTimeout);
  }, [throwsNow, throwsLate, slowHero]);
  return (
    <>
      {headline && <section className="hero">{headline}</section>}
      <p>
        <button type="button" onClick={() => setOpen(!open)}>
          {open ? "Hide" : "Show"} today&apos;s briefing
        </button>
      </p>
      {open && <p>3 decisions need you before ten.</p>}
    </>
  );
}
