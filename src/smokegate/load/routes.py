"""The routes of the load check's traffic mix, by id, and the answers each must get in the hold.

Shared by the config section (:mod:`smokegate.load.config`, which checks the weights and the counts)
and the plan built from it (:mod:`smokegate.load.plan`, read in the Locust processes): plain constants,
so neither imports the other.
"""

# The routes a target's traffic is made of, by id: ``page-<name>``, ``api-<name>`` and these three.
HEALTH_ROUTE = "health"
SIGNED_IN_ROUTE = "signed-in-api"
AI_ROUTE = "ai"
# The answers the config must plan for each route in the hold (the check judges on at least
# plan.MIN_SAMPLES): the count a run gets is random around it, and a fault that slows the users (they
# wait on each answer) cuts it further.
PLANNED_SAMPLES = 40
