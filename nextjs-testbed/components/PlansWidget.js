"use client";

// The pricing page's plan-comparison widget.  Its faults: an error logged as the plans load, one
// logged 3 s later (after its data arrives), and a banner inserted above the plans after load.
import { useEffect, useState } from "react";

const PLANS_ERROR = "Error: failed to load plans: GET /api/plans 503 (Service Unavailable)";

export default function PlansWidget({ logsError, logsErrorLate, banner }) {
  const [text, setText] = useState(null);
  useEffect(() => {
    const timers = [];
    if (logsError) console.error(PLANS_ERROR);
    if (logsErrorLate) timers.push(setTimeout(() => console.error(PLANS_ERROR), 3000));
    if (banner) {
      fetch("/api/highlights")
        .then((answer) => answer.json())
        .then((data) => setText(data.banner));
    }
    return () => timers.forEach(clearTimeout);
  }, [logsError, logsErrorLate, banner]);
  return text ? <div role="status" className="banner">{text}</div> : null;
}
