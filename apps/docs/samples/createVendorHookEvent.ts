import { createInstancesClient } from "@instances-api/client";

// A vendor's post, as SugarCRM sends it: no Authorization header, the URL's secret is its credential.
const vendor = createInstancesClient({ baseUrl: "http://127.0.0.1:3000/your_moms/api-v2", userSecret: "", organizationSecret: "" });
const { error } = await vendor.POST("/vendor-hooks/{secret}/{resource}", {
  params: { path: { secret: "vh_q3nT0bXyZ8sA1cD4eF7gH0iJ3kL6mN9oP2rS5uV8wX1", resource: "Contacts" } },
  body: { isUpdate: true, bean: "Contact", data: { id: "2f6a0c1e", date_modified: "2026-12-06T05:10:44-04:00" } },
});
if (error) throw new Error(error.message); // 404: no such receiving URL, whatever the reason
