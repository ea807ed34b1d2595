export const PLANS = [
  { name: "Assistant", price: "$29", description: "Smart triage for one inbox" },
  { name: "Executive plan", price: "$99", description: "Priority briefings across email, Slack and Teams" },
  { name: "Chief of Staff", price: "$249", description: "Delegation, drafting and analytics for your team" },
];

export const NO_STORE = { "cache-control": "no-store, max-age=0" };
export const PRIVATE_NO_STORE = { "cache-control": "private, no-cache, no-store, max-age=0, must-revalidate" };
