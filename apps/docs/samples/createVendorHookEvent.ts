import { createInstancesClient } from "@instances-api/client";

// A vendor's post, as SugarCRM sends it: no Authorization header, the URL's secret is its credential.
const vendor = createInstancesClient({ baseUrl: "https://instances.example.com/your_moms/api-v2", userSecret: "", organizationSecret: "" });
const { error } = await vendor.POST("/vendor-hooks/{secret}/{resource}", {
  params: { path: { secret: process.env.RECEIVING_SECRET ?? "", resource: "Contacts" } },
  body: { isUpdate: true, bean: "Contact", data: { id: "2f6a0c1e", date_modified: "2026-12-06T05:10:44-04:00" } },
});
if (error) throw new Error(error.message); // 404: no such receiving URL (whatever the reason)
