import { Suspense } from 'react';
import { InviteLanding } from '@/features/invitations/invite-landing';

export default function InvitePage() {
  return (
    <Suspense>
      <InviteLanding />
    </Suspense>
  );
}
