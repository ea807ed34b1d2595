import { readFaults, sleep } from "../../../lib/faults";
import { NO_STORE } from "../../../lib/plans";

export const dynamic = "force-dynamic";

const HEADLINE =
  "Your morning briefing: three decisions need you before ten, the board deck is ready for review, " +
  "and Napoleon has drafted replies to the eleven threads that can wait.";

export async function GET() {
  if (readFaults().active.has("lcp-slow")) await sleep(3000);
  return Response.json({ headline: HEADLINE, banner: "New: Slack huddles are now summarised." }, { headers: NO_STORE });
}
